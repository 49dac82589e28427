/**
 * Connection status: one tagged union and every allowed transition, in one place
 * (postgres_async's opaque `module T`).
 *
 *   Open ──close()──► Closing ──socket gone──► ClosedGracefully
 *     │                  │
 *     └──fatal/IO error──┴──────────────────► Failed{error, resourcesReleased}
 *
 * `Failed.resourcesReleased` turns true once the socket is destroyed. A transition that the
 * diagram does not allow is ignored (returns the old state), so racing events (a FATAL arriving
 * while we close) settle on the first one. It does NOT own the socket or the request queue.
 */
import type { PgConnectionFailure } from "../Errors.ts"

export type Status =
  | { readonly _tag: "Open" }
  | { readonly _tag: "Closing" }
  | { readonly _tag: "Failed"; readonly error: PgConnectionFailure; readonly resourcesReleased: boolean }
  | { readonly _tag: "ClosedGracefully" }

export const Open: Status = { _tag: "Open" }
export const Closing: Status = { _tag: "Closing" }
export const ClosedGracefully: Status = { _tag: "ClosedGracefully" }

export type Event =
  | { readonly _tag: "CloseRequested" }
  | { readonly _tag: "SocketGone" }
  | { readonly _tag: "Fail"; readonly error: PgConnectionFailure }
  | { readonly _tag: "ResourcesReleased" }

/** The next status, or the same object when the event does not apply. */
export const transition = (status: Status, event: Event): Status => {
  switch (event._tag) {
    case "CloseRequested":
      return status._tag === "Open" ? Closing : status
    case "SocketGone":
      if (status._tag === "Closing") return ClosedGracefully
      return status
    case "Fail":
      if (status._tag === "Open" || status._tag === "Closing") {
        return { _tag: "Failed", error: event.error, resourcesReleased: false }
      }
      return status
    case "ResourcesReleased":
      if (status._tag === "Failed" && !status.resourcesReleased) {
        return { _tag: "Failed", error: status.error, resourcesReleased: true }
      }
      return status
  }
}

/** True when requests may still be submitted. */
export const isUsable = (status: Status): boolean => status._tag === "Open"

/** True when the connection reached an end state. */
export const isFinal = (status: Status): boolean =>
  status._tag === "ClosedGracefully" || status._tag === "Failed"
