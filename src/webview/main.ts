// OWNER: UI helper. The inspector panel's script.
export {};
