/** @type {import('jest').Config} */
module.exports = {
  displayName: 'notebook-domain',
  preset: '../../../jest.preset.js',
  rootDir: __dirname,
};
