// One linter. Its job beyond hygiene: keep protocol/ and node/ logic deterministic, so the
// simulator runs the very code production runs (time and randomness come in as components).
import tseslint from "typescript-eslint";

const inject = (what, use) => `${what} is ambient; take ${use} from the injected components instead (see protocol/clock.ts, protocol/random.ts).`;

const determinism = {
  "no-restricted-properties": [
    "error",
    { object: "Date", property: "now", message: inject("Date.now()", "clock.now()") },
    { object: "Math", property: "random", message: inject("Math.random()", "random.next()") },
    { object: "performance", property: "now", message: inject("performance.now()", "clock.now()") },
  ],
  "no-restricted-globals": [
    "error",
    { name: "setTimeout", message: inject("setTimeout", "clock.schedule()/clock.sleep()") },
    { name: "setInterval", message: inject("setInterval", "clock.schedule() re-armed") },
    { name: "setImmediate", message: inject("setImmediate", "clock.schedule(0, …)") },
    { name: "performance", message: inject("performance", "clock.now()") },
  ],
  "no-restricted-syntax": [
    "error",
    { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: inject("new Date()", "new Date(clock.now())") },
    { selector: "CallExpression[callee.name='Date'][arguments.length=0]", message: inject("Date()", "clock.now()") },
  ],
  "no-restricted-imports": [
    "error",
    { name: "node:timers", message: inject("node:timers", "the Clock") },
    { name: "node:timers/promises", message: inject("node:timers/promises", "clock.sleep()") },
    { name: "node:crypto", importNames: ["randomBytes", "randomUUID", "randomInt"], message: inject("node:crypto randomness", "the Random") },
  ],
};

export default tseslint.config(
  { ignores: ["node_modules/**", ".tools/**", ".peerstack/**", "out/**"] },
  {
    files: ["**/*.ts", "**/*.js"],
    languageOptions: { parser: tseslint.parser, ecmaVersion: 2024, sourceType: "module" },
    plugins: { "@typescript-eslint": tseslint.plugin },
    rules: {
      "no-debugger": "error",
      "no-var": "error",
      "prefer-const": "error",
      eqeqeq: ["error", "smart"],
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" }],
    },
  },
  {
    // Deterministic code: protocol/ entirely, node/ except the adapters that bind real time, I/O and the host.
    files: ["protocol/**/*.ts", "node/**/*.ts"],
    ignores: ["**/*.test.ts", "node/runtime/**", "node/adapters/**", "node/main/**"],
    rules: determinism,
  },
);
