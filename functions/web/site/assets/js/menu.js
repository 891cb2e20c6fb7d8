// The administrators' menu on home: shown to the roles each link is for,
// as GET /auth/me names the role. The API decides what each page may do.

/** showAdminMenu shows the links of #admin-menu meant for me's role. */
export function showAdminMenu(me) {
  const menu = document.getElementById('admin-menu');
  if (!menu) return;
  let any = false;
  for (const li of menu.querySelectorAll('[data-roles]')) {
    const shown = li.dataset.roles.split(' ').includes(me.role);
    li.hidden = !shown;
    any = any || shown;
  }
  menu.hidden = !any;
}
