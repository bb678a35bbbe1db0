// Node has the WebAssembly global, but TypeScript declares it only in its DOM and web-worker libraries,
// which the engine's tsconfig leaves out (the engine has no DOM). The part the engine uses. The root
// tsconfig (tests, with the DOM library) excludes this file: there lib.dom declares WebAssembly.
declare namespace WebAssembly {
  interface Memory {
    readonly buffer: ArrayBuffer | SharedArrayBuffer;
  }
  class Module {
    constructor(bytes: ArrayBufferView | ArrayBuffer);
  }
  type Imports = Record<string, Record<string, unknown>>;
  class Instance {
    constructor(module: Module, imports?: Imports);
    readonly exports: Record<string, unknown>;
  }
}
