// Placeholder until the Backend protocol lands.
