"""Learning: the agent (acting, the TD update, target syncs), its networks, the replay memory."""
