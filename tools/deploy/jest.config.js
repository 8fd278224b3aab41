/** @type {import('jest').Config} */
module.exports = {
  displayName: 'tools-deploy',
  preset: '../../jest.preset.js',
  rootDir: __dirname,
};
