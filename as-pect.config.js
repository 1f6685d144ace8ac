// as-pect configuration (ESM; package.json has "type": "module").
// Specs are built with as-pect.asconfig.json, which extends ./asconfig.json, so the
// module imports its memory (env.memory): we supply it here and merge it with
// as-pect's own imports via createImports.
export default {
  /** Globs of spec files. */
  entries: ["assembly/__tests__/**/*.spec.ts"],
  /** Globs of files added to every spec compilation. */
  include: ["assembly/__tests__/**/*.include.ts"],
  /** Regexps of files to exclude. */
  disclude: [/node_modules/],
  /**
   * Instantiate the spec module. `memory` (as-pect's default) is ignored: the
   * module imports env.memory, which we create here.
   */
  async instantiate(_memory, createImports, instantiate, binary) {
    const memory = new WebAssembly.Memory({ initial: 2 });
    const myImports = {
      // env.hook: the allocator's host callback (constructors etc.); specs make no callbacks.
      env: { memory, hook: () => 0 },
    };
    return instantiate(binary, createImports(myImports));
  },
  /** Coverage does not work with this toolchain; leave it off. */
  // coverage: ["assembly/**/*.ts"],
  /** Do not write spec binaries to the file system. */
  outputBinary: false,
};
