import type { Api } from '../shared/operations'

declare global {
  interface Window {
    /** Present in Electron (from the preload); absent in the browser host. */
    api?: Api
  }
}
