-- rdesk-input.lua: loaded by rdctl into the mpv viewer. Binds every key and
-- mouse button of the window (forced bindings win over mpv's own) and passes
-- each event to rdctl as a script message, which rdctl reads on mpv's JSON IPC
-- socket and sends to the remote machine:
--   rdesk key down|up|press NAME        NAME as mpv names keys ("Ctrl+a", "ENTER")
--   rdesk btn down|up NAME X Y          MBTN_LEFT/RIGHT/MID/BACK/FORWARD
--   rdesk wheel NAME X Y                WHEEL_UP/DOWN/LEFT/RIGHT
--   rdesk move X Y                      window coordinates
-- No key stays local: closing the window (or ending rdctl) ends the session.
-- Generated into rdctl at build time; edit this file, not the header.

local function send(...)
  mp.commandv("script-message", "rdesk", ...)
end

local function pos()
  local x, y = mp.get_mouse_pos()
  return tostring(math.floor(x or 0)), tostring(math.floor(y or 0))
end

local n = 0
local function bind(name, fn)
  n = n + 1
  mp.add_forced_key_binding(name, "rdesk-" .. n, fn, {complex = true})
end

local function key_fn(t)
  if t.event == "repeat" then return end
  send("key", t.event or "press", t.key_name or "")
end

local named = {
  "ENTER", "BS", "TAB", "ESC", "SPACE", "DEL", "INS", "HOME", "END", "PGUP", "PGDWN",
  "UP", "DOWN", "LEFT", "RIGHT", "MENU", "PAUSE", "PRINT",
  "F1", "F2", "F3", "F4", "F5", "F6", "F7", "F8", "F9", "F10", "F11", "F12",
  "KP0", "KP1", "KP2", "KP3", "KP4", "KP5", "KP6", "KP7", "KP8", "KP9",
  "KP_ENTER", "KP_DEC", "KP_DEL", "KP_INS", "SHARP", "PLUS",
}
local chars = {}
for c = 33, 126 do
  local s = string.char(c)
  if s ~= "#" and s ~= "+" then chars[#chars + 1] = s end
end
local mods = { "", "Shift+", "Ctrl+", "Alt+", "Meta+", "Ctrl+Shift+", "Ctrl+Alt+",
  "Alt+Shift+", "Ctrl+Alt+Shift+", "Ctrl+Meta+", "Alt+Meta+" }

-- Plain characters (any script) in one binding; everything else by name.
bind("ANY_UNICODE", key_fn)
for _, m in ipairs(mods) do
  for _, k in ipairs(named) do bind(m .. k, key_fn) end
  if m ~= "" and m ~= "Shift+" then
    for _, k in ipairs(chars) do bind(m .. k, key_fn) end
  end
end

local function btn_fn(t)
  if t.event == "repeat" then return end
  local x, y = pos()
  local ev = t.event == "press" and "press" or t.event
  send("btn", ev, t.key_name or "", x, y)
end
for _, m in ipairs({ "", "Shift+", "Ctrl+", "Alt+" }) do
  for _, b in ipairs({ "MBTN_LEFT", "MBTN_RIGHT", "MBTN_MID", "MBTN_BACK", "MBTN_FORWARD",
    "MBTN_LEFT_DBL", "MBTN_RIGHT_DBL" }) do
    bind(m .. b, btn_fn)
  end
  for _, w in ipairs({ "WHEEL_UP", "WHEEL_DOWN", "WHEEL_LEFT", "WHEEL_RIGHT" }) do
    bind(m .. w, function(t)
      if t.event == "up" then return end
      local x, y = pos()
      send("wheel", t.key_name or w, x, y)
    end)
  end
end

mp.observe_property("mouse-pos", "native", function(_, v)
  if v and v.hover ~= false then
    send("move", tostring(math.floor(v.x)), tostring(math.floor(v.y)))
  end
end)
-- rdctl asks once it is connected to the IPC socket (a message sent before
-- that would be lost), and the script says it is ready.
mp.register_script_message("rdesk-hello", function() send("ready") end)
send("ready")
