/** The allocator settings MeshCache's launchers give the process they start, by name. */
export declare const ALLOCATOR_SETTINGS: Readonly<Record<string, string>>
/** `env` with the allocator settings it does not set itself. */
export declare function processEnvironment(env?: NodeJS.ProcessEnv): NodeJS.ProcessEnv
