/** @type {import('jest').Config} */
module.exports = {
  displayName: 'notebook-service',
  preset: '../../jest.preset.js',
  rootDir: __dirname,
};
