// The receiver's service worker: offline shell, notifications, and FCM web push.
const CACHE = "siaga-receiver-v1";
const SHELL = [
  "/", "/manifest.webmanifest", "/static/app.js", "/static/alerts.js", "/static/style.css",
  "/static/icon.svg", "/static/icon-192.png", "/static/icon-512.png",
];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) if (name !== CACHE) await caches.delete(name);
    await self.clients.claim();
  })());
});

// The shell: network first (so updates arrive), the cache when offline. The API is never cached.
self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== location.origin || url.pathname.startsWith("/api/")) return;
  event.respondWith((async () => {
    try {
      const response = await fetch(event.request);
      if (response.ok) (await caches.open(CACHE)).put(event.request, response.clone());
      return response;
    } catch (error) {
      return (await caches.match(event.request)) ?? (await caches.match("/")) ?? Response.error();
    }
  })());
});

// A message from FCM (the notifier's firebase-admin): {notification: {title, body}, data: {...}}.
self.addEventListener("push", (event) => {
  let message = {};
  try { message = event.data ? event.data.json() : {}; } catch (error) { message = { notification: { body: event.data.text() } }; }
  const notification = message.notification ?? {};
  const data = message.data ?? {};
  event.waitUntil(self.registration.showNotification(notification.title ?? "Siaga alert", {
    body: notification.body ?? "", tag: data.incident_id, renotify: Boolean(data.incident_id),
    icon: "/static/icon-192.png", badge: "/static/icon-192.png", data: { ...data, url: "/" },
  }));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  event.waitUntil((async () => {
    const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
    const open = windows.find((client) => new URL(client.url).origin === location.origin);
    if (open) return open.focus();
    return self.clients.openWindow(event.notification.data?.url ?? "/");
  })());
});
