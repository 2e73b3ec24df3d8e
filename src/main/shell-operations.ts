import type { AppStatus, DesktopAction, LocalServerStatus } from '../shared/contract'
import type { OperationHandlers, ParsedInput } from '../shared/operations'

/** What the desktop shell does for the window's buttons (the start-up error screen's, the menu's). */
export interface DesktopShell {
  status(): AppStatus
  actions: Record<DesktopAction, () => Promise<void> | void>
  localServer: {
    status(): LocalServerStatus
    start(config: ParsedInput<'startLocalServer'>): Promise<LocalServerStatus>
    stop(): Promise<LocalServerStatus>
  }
}

type ShellOperationName = 'appStatus' | 'desktop' | 'localServer' | 'startLocalServer' | 'stopLocalServer'

/** The shell's own operations of the table: the app's status, and the desktop actions. */
export function shellOperations(shell: DesktopShell): Pick<OperationHandlers, ShellOperationName> {
  return {
    appStatus: async () => shell.status(),
    desktop: async ({ action }) => {
      await shell.actions[action]()
      return { done: true }
    },
    localServer: async () => shell.localServer.status(),
    startLocalServer: (config) => shell.localServer.start(config),
    stopLocalServer: () => shell.localServer.stop(),
  }
}
