import type { MenuItemConstructorOptions } from 'electron'

/** Electron's menu item options: plain data, so the template is tested without Electron. */
export type MenuItemSpec = MenuItemConstructorOptions

/** What the menu's items do: the same operations as the window's buttons. */
export interface MenuActions {
  openPicture(): void
  saveModel(): void
  openDataFolder(): void
  openLogFile(): void
  about(): void
  quit(): void
}

/**
 * The application menu of every desktop app (ComfyUI Desktop, Heynote, Actual): File, Edit,
 * View, Help. Edit and View use Electron's own roles (copy and paste in the prompt field,
 * zoom); reload and the developer tools only in development.
 */
export function appMenuTemplate(actions: MenuActions, options: { dev: boolean; mac: boolean }): MenuItemSpec[] {
  const separator: MenuItemSpec = { type: 'separator' }
  return [
    ...(options.mac ? [{ role: 'appMenu' } as const] : []),
    {
      label: 'File',
      submenu: [
        { label: 'Open picture…', accelerator: 'CmdOrCtrl+O', click: actions.openPicture },
        { label: 'Save model…', accelerator: 'CmdOrCtrl+S', click: actions.saveModel },
        separator,
        { label: 'Quit', accelerator: 'CmdOrCtrl+Q', click: actions.quit },
      ],
    },
    {
      label: 'Edit',
      submenu: [
        { role: 'undo' },
        { role: 'redo' },
        separator,
        { role: 'cut' },
        { role: 'copy' },
        { role: 'paste' },
        { role: 'selectAll' },
      ],
    },
    {
      label: 'View',
      submenu: [
        { role: 'resetZoom' },
        { role: 'zoomIn' },
        { role: 'zoomOut' },
        separator,
        { role: 'togglefullscreen' },
        ...(options.dev ? [separator, { role: 'reload' } as const, { role: 'toggleDevTools' } as const] : []),
      ],
    },
    {
      label: 'Help',
      submenu: [
        { label: 'Open data folder', click: actions.openDataFolder },
        { label: 'Open log file', click: actions.openLogFile },
        separator,
        { label: 'About MeshCache', click: actions.about },
      ],
    },
  ]
}
