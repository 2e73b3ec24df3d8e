import { contextBridge } from 'electron'

contextBridge.exposeInMainWorld('meshcacheVersion', '0.1.0')
