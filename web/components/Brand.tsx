export function Brand() {
  return (
    <span className="brand">
      <svg aria-hidden="true" viewBox="0 0 32 32" width="28" height="28">
        <rect width="32" height="32" rx="8" fill="currentColor" />
        <path d="M9 22V10h2.6l6.8 8V10H21v12h-2.6l-6.8-8v8z" fill="#fff" />
      </svg>
      <span>nanobot <span className="brand-soft">tutor</span></span>
    </span>
  );
}
