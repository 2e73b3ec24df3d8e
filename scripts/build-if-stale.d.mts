export const ROOT: string
export function isStale(): boolean
export function buildIfStale(options?: { force?: boolean; quiet?: boolean }): boolean
