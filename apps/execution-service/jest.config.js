/** @type {import('jest').Config} */
module.exports = {
  displayName: 'execution-service',
  preset: '../../jest.preset.js',
  rootDir: __dirname,
};
