// The fakes live in src/demo: `vigil demo` runs them as its simulated Defender, and the tests use the same ones.
export * from '../../src/demo/fake-graph.js';
