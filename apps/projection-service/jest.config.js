/** @type {import('jest').Config} */
module.exports = {
  displayName: 'projection-service',
  preset: '../../jest.preset.js',
  rootDir: __dirname,
};
