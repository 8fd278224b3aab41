/** @type {import('jest').Config} */
module.exports = {
  displayName: 'search-service',
  preset: '../../jest.preset.js',
  rootDir: __dirname,
};
