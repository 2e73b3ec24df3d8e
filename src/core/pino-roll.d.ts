// pino-roll ships no types: the part of its API MeshCache uses (see its pino-roll.js).
declare module 'pino-roll' {
  import type { DestinationStream } from 'pino'

  interface RollStream extends DestinationStream {
    /** The file being written now; null once closed. */
    readonly file: string | null
    end(): void
  }

  export default function pinoRoll(options: {
    file: string
    extension?: string
    size?: string | number
    frequency?: string | number
    limit?: { count?: number; removeOtherLogFiles?: boolean }
    mkdir?: boolean
    symlink?: boolean
  }): Promise<RollStream>
}
