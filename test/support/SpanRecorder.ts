/**
 * A tracer that records every span it makes, for tests that check spans and their attributes
 * (the pool's observability, the effect/sql driver's tracing).
 */
import { Tracer } from "effect"

export const spanRecorder = () => {
  const spans: Array<Tracer.NativeSpan> = []
  const tracer = Tracer.make({
    span(options) {
      const span = new Tracer.NativeSpan(options)
      spans.push(span)
      return span
    }
  })
  return { spans, tracer }
}
