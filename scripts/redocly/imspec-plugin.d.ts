// Types of what the TypeScript side imports from the plugin, which Redocly loads as plain JavaScript.
/** `x-imspec-`, or a slip of it, starts the name. */
export function nearPrefix(name: string): boolean;
