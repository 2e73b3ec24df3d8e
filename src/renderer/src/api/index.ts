import type { Api } from '../../../shared/operations'
import { createHttpApi } from './http-api'

/** window.api in Electron (from the preload), the HTTP adapter in the browser host. */
export const api: Api = window.api ?? createHttpApi()
