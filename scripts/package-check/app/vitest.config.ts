import { defineConfig } from "vitest/config"

// Test servers take a second or two to start on a busy machine.
export default defineConfig({ test: { testTimeout: 60_000, hookTimeout: 120_000 } })
