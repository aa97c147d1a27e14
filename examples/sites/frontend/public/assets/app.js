// Fetches the items from the API and lists them; /items/N (a deep link, answered with
// index.html by the static app's fallback) marks item N as the current one.
const status = document.getElementById("status");
const list = document.getElementById("items");
const route = location.pathname.match(/^\/items\/(\d+)$/);
const current = route ? Number(route[1]) : null;

async function load() {
  const response = await fetch("/api/items", { headers: { accept: "application/json" } });
  if (!response.ok) {
    throw new Error(`HTTP ${response.status}`);
  }
  return response.json();
}

function render(items) {
  list.replaceChildren(
    ...items.map((item) => {
      const link = document.createElement("a");
      link.href = `/items/${item.id}`;
      link.textContent = item.name;
      if (item.id === current) {
        link.setAttribute("aria-current", "page");
      }
      const entry = document.createElement("li");
      entry.append(link);
      return entry;
    }),
  );
  status.textContent = `loaded ${items.length} items`;
  status.dataset.state = "ok";
}

load().then(render, (error) => {
  status.textContent = `could not load items: ${error.message}`;
  status.dataset.state = "error";
});
