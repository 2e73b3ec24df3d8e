import * as nodeFs from 'node:fs/promises'
import type { z } from 'zod'
import { type StorageFs, writeFileAtomically } from './atomic-write'

/**
 * A settings file in the data folder, checked by a schema when read and written atomically,
 * so a restart keeps what the user chose. A missing file means the defaults; a damaged one
 * means the defaults too, and says so.
 */
export class JsonFile<Schema extends z.ZodType> {
  private readonly fs: StorageFs

  constructor(
    private readonly path: string,
    private readonly schema: Schema,
    /** What the file holds, for the message when it cannot be read ("the cache settings"). */
    private readonly what: string,
    fs?: StorageFs,
  ) {
    this.fs = fs ?? nodeFs
  }

  async load(): Promise<{ value?: z.output<Schema>; problem?: string }> {
    let text: string
    try {
      text = await this.fs.readFile(this.path, 'utf8')
    } catch {
      return {}
    }
    try {
      const parsed = this.schema.safeParse(JSON.parse(text))
      if (parsed.success) return { value: parsed.data }
    } catch {
      // not JSON: the defaults, and say so
    }
    return { problem: `The saved ${this.what} (${this.path}) could not be read; the defaults apply.` }
  }

  save(value: z.input<Schema>): Promise<void> {
    return writeFileAtomically(this.fs, this.path, `${JSON.stringify(value, null, 2)}\n`)
  }
}
