import type { Api } from '../../../shared/operations'
import { createHttpApi } from './http-api'

// window.api comes from the preload in Electron; in the browser host the HTTP adapter takes
// its place, so the page offers the same object in both hosts.
window.api ??= createHttpApi()

export const api: Api = window.api
