/** @type {import('jest').Config} */
module.exports = {
  displayName: 'tools',
  preset: '../jest.preset.js',
  rootDir: __dirname,
  // tools/deploy is its own project (with its own jest config); run its specs once, there.
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/deploy/'],
};
