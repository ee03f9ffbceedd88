/** Stylesheets are bundled by esbuild (scripts/build-console.mjs); to TypeScript they are opaque. */
declare module '*.css';
