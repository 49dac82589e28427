/**
 * The commands layer, public: the contract a custom command implements (`Command`, `Step`,
 * `Failure` and the step constructors) and the built-in commands, which custom ones may reuse.
 * Run a command with `connection.run(command, args)` (docs/commands.md).
 */
export * from "./Command.ts"
export { type ExtendedArgs, type ExtendedResult, type ExtendedState, extendedQuery } from "./extended.ts"
export { type SimpleArgs, type SimpleResult, type SimpleState, simpleQuery } from "./simple.ts"
