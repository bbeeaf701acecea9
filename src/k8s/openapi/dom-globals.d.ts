// The generated fetch client names the DOM type `BodyInit`; our tsconfig has no DOM lib, and @types/node
// declares fetch's other globals but not this one. Alias it to undici's definition (what Node's fetch uses).
type BodyInit = import('undici-types').BodyInit;
