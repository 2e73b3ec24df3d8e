import type { BackendInfo, BackendTestResult } from '../../shared/contract'
import { AppError } from '../../shared/errors'
import type { ParsedInput } from '../../shared/operations'
import type { Backends } from './backends'
import type { GpuServers } from './gpu-servers'

/**
 * The generator operations: the list of backends (each GPU server with its state, and the
 * notices about the saved list), and adding, testing, naming the model of and removing GPU
 * servers. Every change answers the list as it now is.
 */
export class ServerAdmin {
  constructor(
    private readonly backends: Backends,
    /** Absent where servers cannot be set up (some tests). */
    readonly servers: GpuServers | undefined,
  ) {}

  async list(): Promise<BackendInfo[]> {
    const notices = this.servers?.problems ?? []
    const all = await this.backends.describeAll()
    return notices.length === 0 ? all : all.map((backend) => (backend.gpu ? { ...backend, notices } : backend))
  }

  async add(input: ParsedInput<'addBackend'>): Promise<BackendInfo[]> {
    await this.settable().add(input)
    return this.list()
  }

  async remove(input: ParsedInput<'removeBackend'>): Promise<BackendInfo[]> {
    await this.settable().remove(input)
    return this.list()
  }

  async setModel(input: ParsedInput<'setBackendModel'>): Promise<BackendInfo[]> {
    await this.settable().setModel(input)
    return this.list()
  }

  test(input: ParsedInput<'testBackend'>): Promise<BackendTestResult> {
    return this.settable().test(input)
  }

  private settable(): GpuServers {
    if (!this.servers) throw new AppError('INVALID_REQUEST', 'GPU servers cannot be set up here.')
    return this.servers
  }
}
