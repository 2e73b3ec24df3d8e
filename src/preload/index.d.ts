import type { Api } from '../shared/contract'

declare global {
  interface Window {
    /** Present in Electron (from the preload); absent in the browser host. */
    api?: Api
  }
}
