export interface Tool {
  name: string
  env: string
  binaries: string[]
  /** One or more Debian package names, separated by spaces. */
  debianPackage: string
  playwright: boolean
  /** Python modules that must import (checked with MESHCACHE_FAKE_PYTHON or Debian's python3). */
  pythonModules?: string[]
}
export interface Machine {
  root: boolean
  apt: boolean
  npx: string
}
export type Command = [string, string[]]
export const TOOLS: Tool[]
export function chooseWay(tool: Tool, machine: Machine): { way: 'apt' | 'playwright' | 'none'; commands: Command[] }
export function instructions(tool: Tool, machine: Machine): string
export function isPresent(
  tool: Tool,
  env?: Record<string, string | undefined>,
  exists?: (path: string) => boolean,
  findOnPath?: (binary: string) => boolean,
  imports?: (python: string, modules: string[]) => boolean,
): boolean
export function ensureTools(options?: {
  tools?: Tool[]
  machine?: Machine
  present?: (tool: Tool) => boolean
  execute?: (command: Command) => boolean
}): string[]
