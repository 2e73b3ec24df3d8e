import type { AppStatus, DesktopAction } from '../shared/contract'
import type { OperationHandlers } from '../shared/operations'

/** What the desktop shell does for the window's buttons (the start-up error screen's, the menu's). */
export interface DesktopShell {
  status(): AppStatus
  actions: Record<DesktopAction, () => Promise<void> | void>
}

/** The shell's own operations of the table: the app's status, and the desktop actions. */
export function shellOperations(shell: DesktopShell): Pick<OperationHandlers, 'appStatus' | 'desktop'> {
  return {
    appStatus: async () => shell.status(),
    desktop: async ({ action }) => {
      await shell.actions[action]()
      return { done: true }
    },
  }
}
