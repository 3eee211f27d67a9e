# livernn - Sonic Pi client
#
# 1. In a terminal:  livernn serve            (OSC in on 127.0.0.1:9000)
# 2. Paste this whole file into a Sonic Pi buffer and press Run (Alt-R / Cmd-R).
#    You hear the notes the model writes, played by a Sonic Pi synth.
# 3. Play it live: change a value below and press Run again. Only what you changed is sent:
#    a new key, meter or seed starts a new tune; temperature and tempo change the running one
#    (/livernn/key and /livernn/meter on their own change the running tune from the next bar).
#
# The server sends every note back to the port this file sends from (Sonic Pi's cue port,
# 4560), where it becomes the cue "/osc:127.0.0.1:9000/livernn/note" [pitch, velocity, seconds].

# --- where `livernn serve` listens (its --osc-host / --osc-port) -------------------------------
livernn_host = "127.0.0.1"
livernn_port = (ENV["LIVERNN_OSC_PORT"] || 9000).to_i   # or simply: livernn_port = 9000

# --- what to play: CHANGE THESE LIVE -----------------------------------------------------------
livernn_playing     = true    # false sends /livernn/stop (every sounding note is released)
livernn_key         = "D"     # D G A E C Dmix Ador Edor Bm ...  (a new key = a new tune)
livernn_meter       = "6/8"   # 6/8 jig, 4/4 reel, 3/4 waltz, 2/4 polka, 9/8 slip jig
livernn_opening     = "|:A"   # first notes of the tune, in ABC ("" lets the model choose)
livernn_temperature = 0.9     # 0.2 safe and repetitive ... 1.0 as trained ... 1.5 wild
livernn_tempo       = 120     # BPM (quarter notes per minute)
livernn_synth       = :pluck  # try :piano, :blade, :tb303, :kalimba, :dtri
livernn_midi        = false   # true: also play each note on a MIDI synth (channel 1)
livernn_listen      = "listen"  # --midi-in keyboard: "listen" (answers after you play),
                                #   "accompany" (plays on, steered by you) or "off"
livernn_constrain   = "meter" # what the sampler lets the model write: "none", "syntax", "meter"
livernn_loop        = 0       # loop the last 2, 4 ... bars exactly from the next bar; 0 plays on
livernn_resend      = false   # true: send everything again (after restarting the server)

use_osc livernn_host, livernn_port

# The seed is an ABC tune header the model continues: the key/meter helper writes it.
define :livernn_header do |key, meter, title = "Sonic Pi"|
  "X:1\nT:#{title}\nM:#{meter}\nL:1/8\nK:#{key}\n"
end

# Send only what changed since the last Run (Sonic Pi's time state remembers it).
# Messages sent at the same moment may arrive in any order, hence the short sleeps.
define :livernn_send_if_changed do |name, address, value|
  unless get(name) == value && !livernn_resend
    osc address, value
    set name, value
    sleep 0.05
  end
end

osc "/livernn/subscribe"              # the server answers to the port we send from
live_loop :livernn_keepalive do       # a subscription expires 10 minutes after our last message
  use_bpm 60
  sleep 60
  osc "/livernn/subscribe"
end
livernn_send_if_changed :livernn_sent_temperature, "/livernn/temperature", livernn_temperature.to_f
livernn_send_if_changed :livernn_sent_tempo, "/livernn/tempo", livernn_tempo.to_f
livernn_send_if_changed :livernn_sent_seed, "/livernn/seed",
  livernn_header(livernn_key, livernn_meter) + livernn_opening
livernn_send_if_changed :livernn_sent_listen, "/livernn/midi_in", livernn_listen
livernn_send_if_changed :livernn_sent_constrain, "/livernn/constrain", livernn_constrain
livernn_send_if_changed :livernn_sent_loop, "/livernn/loop", livernn_loop.to_i

unless get(:livernn_sent_playing) == livernn_playing && !livernn_resend
  osc(livernn_playing ? "/livernn/start" : "/livernn/stop")
  set :livernn_sent_playing, livernn_playing
end
# osc "/livernn/panic"                # uncomment and Run: silence until /livernn/start
# osc "/livernn/prime", "|:d2"        # uncomment and Run: steer the running tune
# Fork the model's state (each from the next bar line): uncomment one line and Run.
# osc "/livernn/rewind", 1            # go on from 1 bar back, sampled afresh
# osc "/livernn/mutate", 2, 1.3       # play again from 2 bars back at temperature 1.3
# osc "/livernn/bookmark", "a"        # name this moment "a" ...
# osc "/livernn/recall", "a"          # ... and come back to it later

# Play in time with a band (Sonic Pi 4 or later has Ableton Link; Sonic Pi 3 has not).
# Start the server with  livernn serve --link  (pip install 'livernn[link]'), then uncomment and
# Run: livernn joins the Link session, and your own live loops use Link's tempo and beat with
# use_bpm :link - both play on the same beat (set the tempo in Link, not with livernn_tempo).
# osc "/livernn/link", 1              # join the Link session live (0 leaves it)
# live_loop :beat do
#   use_bpm :link
#   sample :bd_haus
#   sleep 1
# end
# Other ways to share the beat: livernn serve --clock-out sends MIDI clock on livernn's MIDI
# output; --clock-in PORT follows the MIDI clock of PORT. A slow synth lands on the beat if
# livernn sends to it early, in ms (0..1000; also --midi-latency and --osc-latency):
# osc "/livernn/midi_latency", 20     # MIDI out 20 ms early
# osc "/livernn/osc_latency", 20      # the note cues 20 ms early (Sonic Pi's synths start late)

live_loop :livernn_notes do
  use_real_time                       # play as soon as the note arrives
  pitch, velocity, seconds = sync "/osc*/livernn/note"
  synth livernn_synth, note: pitch, amp: velocity / 127.0,
    attack: 0, sustain: seconds * 0.8, release: seconds * 0.2
  if livernn_midi
    midi pitch, velocity: velocity, sustain: seconds, channel: 1
  end
end

# How sure the model was of each note: its entropy in bits (high: unsure), right after the note.
# Live code can read it, e.g.  play :e5 if get(:livernn_bits).to_f > 2
live_loop :livernn_confidence do
  use_real_time
  _pitch, bits, _voice = sync "/osc*/livernn/confidence"
  set :livernn_bits, bits
end
