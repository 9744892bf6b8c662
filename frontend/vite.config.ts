/// <reference types="vitest/config" />
import { defineConfig } from "vite";
import { svelte } from "@sveltejs/vite-plugin-svelte";

// Built into the Python package's static folder; FastAPI serves it at "/".
// A relative base keeps asset URLs working under any path prefix.
export default defineConfig({
  base: "./",
  plugins: [svelte()],
  build: {
    outDir: "../src/compresslens/server/static",
    emptyOutDir: true,
    assetsDir: "assets",
  },
  server: {
    proxy: { "/api": "http://127.0.0.1:8765" },
  },
  test: {
    include: ["src/**/*.test.ts"],
    environment: "node",
  },
});
