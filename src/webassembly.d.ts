// The slice of the WebAssembly JS API that gradpool uses. TypeScript ships these types only in
// lib.dom / lib.webworker, and pulling in a browser global scope for a Node program would hide mistakes.
declare namespace WebAssembly {
  interface MemoryDescriptor {
    initial: number;
    maximum?: number;
    shared?: boolean;
  }
  class Memory {
    constructor(descriptor: MemoryDescriptor);
    readonly buffer: ArrayBuffer | SharedArrayBuffer;
    grow(delta: number): number;
  }
  class Module {
    constructor(bytes: BufferSource);
  }
  type ExportValue = Function | Memory | number | bigint;
  class Instance {
    constructor(module: Module, importObject?: Record<string, Record<string, unknown>>);
    readonly exports: Record<string, ExportValue>;
  }
  function validate(bytes: BufferSource): boolean;
}
