// The fake lives in src/demo: `vigil demo` runs it as its simulated Defender, and the tests use the same one.
export * from '../../src/demo/fake-entra.js';
