{
 "patcher": {
  "fileversion": 1,
  "appversion": {
   "major": 8,
   "minor": 5,
   "revision": 0,
   "architecture": "x64",
   "modernui": 1
  },
  "classnamespace": "box",
  "rect": [
   100.0,
   100.0,
   1000.0,
   800.0
  ],
  "bglocked": 0,
  "openinpresentation": 0,
  "default_fontsize": 12.0,
  "default_fontface": 0,
  "default_fontname": "Arial",
  "gridonopen": 1,
  "gridsize": [
   15.0,
   15.0
  ],
  "boxes": [
   {
    "box": {
     "id": "obj-1",
     "maxclass": "comment",
     "numinlets": 1,
     "numoutlets": 0,
     "patching_rect": [
      20.0,
      10.0,
      760.0,
      60.0
     ],
     "text": "livernn - Max client. 1) start the server: livernn serve (OSC in on 127.0.0.1:9000). 2) open this patch: it subscribes port 9001 to the server's notes. 3) pick a seed, key and meter, press start. Notes play through makenote -> noteout (double-click noteout to choose the MIDI synth).",
     "linecount": 3
    }
   },
   {
    "box": {
     "id": "obj-2",
     "maxclass": "comment",
     "numinlets": 1,
     "numoutlets": 0,
     "patching_rect": [
      20.0,
      80.0,
      460.0,
      20.0
     ],
     "text": "CONNECTION - udpsend to the server; it answers to port 9001 (udpreceive)"
    }
   },
   {
    "box": {
     "id": "obj-3",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 1,
     "patching_rect": [
      20.0,
      105.0,
      70.0,
      22.0
     ],
     "outlettype": [
      "bang"
     ],
     "text": "loadbang"
    }
   },
   {
    "box": {
     "id": "obj-4",
     "maxclass": "message",
     "numinlets": 2,
     "numoutlets": 1,
     "patching_rect": [
      20.0,
      135.0,
      175.0,
      22.0
     ],
     "outlettype": [
      ""
     ],
     "text": "/livernn/subscribe 9001"
    }
   },
   {
    "box": {
     "id": "obj-5",
     "maxclass": "message",
     "numinlets": 2,
     "numoutlets": 1,
     "patching_rect": [
      220.0,
      135.0,
      105.0,
      22.0
     ],
     "outlettype": [
      ""
     ],
     "text": "/livernn/ping"
    }
   },
   {
    "box": {
     "id": "obj-6",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 0,
     "patching_rect": [
      20.0,
      580.0,
      168.0,
      22.0
     ],
     "text": "udpsend 127.0.0.1 9000"
    }
   },
   {
    "box": {
     "id": "obj-7",
     "maxclass": "comment",
     "numinlets": 1,
     "numoutlets": 0,
     "patching_rect": [
      20.0,
      200.0,
      560.0,
      20.0
     ],
     "text": "SEED - resets the model and primes it with this ABC text (\\\\n is a newline)"
    }
   },
   {
    "box": {
     "id": "obj-8",
     "maxclass": "message",
     "numinlets": 2,
     "numoutlets": 1,
     "patching_rect": [
      20.0,
      225.0,
      440.0,
      22.0
     ],
     "outlettype": [
      ""
     ],
     "text": "/livernn/seed X:1\\\\nT:Live Reel\\\\nR:reel\\\\nM:4/4\\\\nL:1/8\\\\nK:D\\\\n|:A"
    }
   },
   {
    "box": {
     "id": "obj-9",
     "maxclass": "message",
     "numinlets": 2,
     "numoutlets": 1,
     "patching_rect": [
      20.0,
      255.0,
      440.0,
      22.0
     ],
     "outlettype": [
      ""
     ],
     "text": "/livernn/seed X:1\\\\nT:Live Jig\\\\nR:jig\\\\nM:6/8\\\\nL:1/8\\\\nK:G\\\\n|:D"
    }
   },
   {
    "box": {
     "id": "obj-10",
     "maxclass": "message",
     "numinlets": 2,
     "numoutlets": 1,
     "patching_rect": [
      20.0,
      285.0,
      440.0,
      22.0
     ],
     "outlettype": [
      ""
     ],
     "text": "/livernn/seed X:1\\\\nT:Slow Air\\\\nM:3/4\\\\nL:1/8\\\\nK:Ador\\\\n"
    }
   },
   {
    "box": {
     "id": "obj-11",
     "maxclass": "comment",
     "numinlets": 1,
     "numoutlets": 0,
     "patching_rect": [
      500.0,
      80.0,
      260.0,
      20.0
     ],
     "text": "KEY and METER from the next bar"
    }
   },
   {
    "box": {
     "id": "obj-12",
     "maxclass": "umenu",
     "numinlets": 1,
     "numoutlets": 3,
     "patching_rect": [
      500.0,
      105.0,
      100.0,
      22.0
     ],
     "outlettype": [
      "int",
      "",
      ""
     ],
     "items": [
      "D",
      ",",
      "G",
      ",",
      "A",
      ",",
      "E",
      ",",
      "C",
      ",",
      "Dmix",
      ",",
      "Ador",
      ",",
      "Edor",
      ",",
      "Bm"
     ],
     "parameter_enable": 0
    }
   },
   {
    "box": {
     "id": "obj-13",
     "maxclass": "umenu",
     "numinlets": 1,
     "numoutlets": 3,
     "patching_rect": [
      620.0,
      105.0,
      100.0,
      22.0
     ],
     "outlettype": [
      "int",
      "",
      ""
     ],
     "items": [
      "4/4",
      ",",
      "3/4",
      ",",
      "6/8",
      ",",
      "9/8",
      ",",
      "2/4"
     ],
     "parameter_enable": 0
    }
   },
   {
    "box": {
     "id": "obj-14",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 1,
     "patching_rect": [
      500.0,
      140.0,
      154.0,
      22.0
     ],
     "outlettype": [
      ""
     ],
     "text": "prepend /livernn/key"
    }
   },
   {
    "box": {
     "id": "obj-15",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 1,
     "patching_rect": [
      620.0,
      170.0,
      168.0,
      22.0
     ],
     "outlettype": [
      ""
     ],
     "text": "prepend /livernn/meter"
    }
   },
   {
    "box": {
     "id": "obj-16",
     "maxclass": "comment",
     "numinlets": 1,
     "numoutlets": 0,
     "patching_rect": [
      20.0,
      330.0,
      230.0,
      20.0
     ],
     "text": "TEMPERATURE 0.1 (safe) ... 2 (wild)"
    }
   },
   {
    "box": {
     "id": "obj-17",
     "maxclass": "slider",
     "numinlets": 1,
     "numoutlets": 1,
     "patching_rect": [
      20.0,
      355.0,
      200.0,
      22.0
     ],
     "outlettype": [
      ""
     ],
     "floatoutput": 1,
     "min": 0.1,
     "size": 1.9,
     "orientation": 1,
     "parameter_enable": 0
    }
   },
   {
    "box": {
     "id": "obj-18",
     "maxclass": "flonum",
     "numinlets": 1,
     "numoutlets": 2,
     "patching_rect": [
      20.0,
      385.0,
      60.0,
      22.0
     ],
     "outlettype": [
      "",
      "bang"
     ],
     "format": 6,
     "parameter_enable": 0
    }
   },
   {
    "box": {
     "id": "obj-19",
     "maxclass": "message",
     "numinlets": 2,
     "numoutlets": 1,
     "patching_rect": [
      20.0,
      415.0,
      175.0,
      22.0
     ],
     "outlettype": [
      ""
     ],
     "text": "/livernn/temperature $1"
    }
   },
   {
    "box": {
     "id": "obj-20",
     "maxclass": "comment",
     "numinlets": 1,
     "numoutlets": 0,
     "patching_rect": [
      260.0,
      330.0,
      200.0,
      20.0
     ],
     "text": "TEMPO (BPM)"
    }
   },
   {
    "box": {
     "id": "obj-21",
     "maxclass": "slider",
     "numinlets": 1,
     "numoutlets": 1,
     "patching_rect": [
      260.0,
      355.0,
      200.0,
      22.0
     ],
     "outlettype": [
      ""
     ],
     "min": 40,
     "size": 201,
     "orientation": 1,
     "parameter_enable": 0
    }
   },
   {
    "box": {
     "id": "obj-22",
     "maxclass": "number",
     "numinlets": 1,
     "numoutlets": 2,
     "patching_rect": [
      260.0,
      385.0,
      60.0,
      22.0
     ],
     "outlettype": [
      "",
      "bang"
     ],
     "parameter_enable": 0
    }
   },
   {
    "box": {
     "id": "obj-23",
     "maxclass": "message",
     "numinlets": 2,
     "numoutlets": 1,
     "patching_rect": [
      260.0,
      415.0,
      133.0,
      22.0
     ],
     "outlettype": [
      ""
     ],
     "text": "/livernn/tempo $1"
    }
   },
   {
    "box": {
     "id": "obj-24",
     "maxclass": "comment",
     "numinlets": 1,
     "numoutlets": 0,
     "patching_rect": [
      20.0,
      455.0,
      640.0,
      20.0
     ],
     "text": "TRANSPORT - start re-subscribes (the server may have restarted); panic also flushes makenote"
    }
   },
   {
    "box": {
     "id": "obj-25",
     "maxclass": "message",
     "numinlets": 2,
     "numoutlets": 1,
     "patching_rect": [
      20.0,
      480.0,
      250.0,
      22.0
     ],
     "outlettype": [
      ""
     ],
     "text": "/livernn/subscribe 9001, /livernn/start"
    }
   },
   {
    "box": {
     "id": "obj-26",
     "maxclass": "message",
     "numinlets": 2,
     "numoutlets": 1,
     "patching_rect": [
      290.0,
      480.0,
      105.0,
      22.0
     ],
     "outlettype": [
      ""
     ],
     "text": "/livernn/stop"
    }
   },
   {
    "box": {
     "id": "obj-27",
     "maxclass": "message",
     "numinlets": 2,
     "numoutlets": 1,
     "patching_rect": [
      400.0,
      480.0,
      112.0,
      22.0
     ],
     "outlettype": [
      ""
     ],
     "text": "/livernn/panic"
    }
   },
   {
    "box": {
     "id": "obj-28",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 2,
     "patching_rect": [
      400.0,
      510.0,
      49.0,
      22.0
     ],
     "outlettype": [
      "bang",
      "bang"
     ],
     "text": "t b b"
    }
   },
   {
    "box": {
     "id": "obj-29",
     "maxclass": "comment",
     "numinlets": 1,
     "numoutlets": 0,
     "patching_rect": [
      500.0,
      520.0,
      300.0,
      20.0
     ],
     "text": "INCOMING - notes: pitch, velocity, seconds"
    }
   },
   {
    "box": {
     "id": "obj-30",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 1,
     "patching_rect": [
      500.0,
      545.0,
      119.0,
      22.0
     ],
     "outlettype": [
      ""
     ],
     "text": "udpreceive 9001"
    }
   },
   {
    "box": {
     "id": "obj-31",
     "maxclass": "newobj",
     "numinlets": 6,
     "numoutlets": 6,
     "patching_rect": [
      500.0,
      575.0,
      540.0,
      22.0
     ],
     "outlettype": [
      "",
      "",
      "",
      "",
      "",
      ""
     ],
     "text": "route /livernn/note /livernn/tune /livernn/error /livernn/pong /livernn/confidence"
    }
   },
   {
    "box": {
     "id": "obj-32",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 3,
     "patching_rect": [
      500.0,
      605.0,
      105.0,
      22.0
     ],
     "outlettype": [
      "int",
      "int",
      "float"
     ],
     "text": "unpack 0 0 0."
    }
   },
   {
    "box": {
     "id": "obj-33",
     "maxclass": "number",
     "numinlets": 1,
     "numoutlets": 2,
     "patching_rect": [
      500.0,
      635.0,
      50.0,
      22.0
     ],
     "outlettype": [
      "",
      "bang"
     ],
     "parameter_enable": 0
    }
   },
   {
    "box": {
     "id": "obj-34",
     "maxclass": "number",
     "numinlets": 1,
     "numoutlets": 2,
     "patching_rect": [
      570.0,
      635.0,
      50.0,
      22.0
     ],
     "outlettype": [
      "",
      "bang"
     ],
     "parameter_enable": 0
    }
   },
   {
    "box": {
     "id": "obj-35",
     "maxclass": "flonum",
     "numinlets": 1,
     "numoutlets": 2,
     "patching_rect": [
      640.0,
      635.0,
      60.0,
      22.0
     ],
     "outlettype": [
      "",
      "bang"
     ],
     "parameter_enable": 0
    }
   },
   {
    "box": {
     "id": "obj-36",
     "maxclass": "newobj",
     "numinlets": 2,
     "numoutlets": 1,
     "patching_rect": [
      640.0,
      665.0,
      63.0,
      22.0
     ],
     "outlettype": [
      "float"
     ],
     "text": "* 1000."
    }
   },
   {
    "box": {
     "id": "obj-37",
     "maxclass": "newobj",
     "numinlets": 3,
     "numoutlets": 2,
     "patching_rect": [
      500.0,
      695.0,
      126.0,
      22.0
     ],
     "outlettype": [
      "float",
      "float"
     ],
     "text": "makenote 100 250"
    }
   },
   {
    "box": {
     "id": "obj-38",
     "maxclass": "newobj",
     "numinlets": 3,
     "numoutlets": 0,
     "patching_rect": [
      500.0,
      725.0,
      77.0,
      22.0
     ],
     "text": "noteout 1"
    }
   },
   {
    "box": {
     "id": "obj-39",
     "maxclass": "message",
     "numinlets": 2,
     "numoutlets": 1,
     "patching_rect": [
      700.0,
      695.0,
      42.0,
      22.0
     ],
     "outlettype": [
      ""
     ],
     "text": "stop"
    }
   },
   {
    "box": {
     "id": "obj-40",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 2,
     "patching_rect": [
      760.0,
      605.0,
      84.0,
      22.0
     ],
     "outlettype": [
      "",
      "int"
     ],
     "text": "unpack s 0"
    }
   },
   {
    "box": {
     "id": "obj-41",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 1,
     "patching_rect": [
      760.0,
      635.0,
      91.0,
      22.0
     ],
     "outlettype": [
      ""
     ],
     "text": "prepend set"
    }
   },
   {
    "box": {
     "id": "obj-42",
     "maxclass": "message",
     "numinlets": 2,
     "numoutlets": 1,
     "patching_rect": [
      760.0,
      665.0,
      200.0,
      22.0
     ],
     "outlettype": [
      ""
     ],
     "text": ""
    }
   },
   {
    "box": {
     "id": "obj-43",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 0,
     "patching_rect": [
      880.0,
      605.0,
      147.0,
      22.0
     ],
     "text": "print livernn-error"
    }
   },
   {
    "box": {
     "id": "obj-44",
     "maxclass": "button",
     "numinlets": 1,
     "numoutlets": 1,
     "patching_rect": [
      220.0,
      165.0,
      22.0,
      22.0
     ],
     "outlettype": [
      "bang"
     ],
     "parameter_enable": 0
    }
   },
   {
    "box": {
     "id": "obj-45",
     "maxclass": "comment",
     "numinlets": 1,
     "numoutlets": 0,
     "patching_rect": [
      245.0,
      165.0,
      200.0,
      20.0
     ],
     "text": "<- flashes on /livernn/pong"
    }
   },
   {
    "box": {
     "id": "obj-90",
     "maxclass": "newobj",
     "text": "metro 60000",
     "numinlets": 2,
     "numoutlets": 1,
     "outlettype": [
      "bang"
     ],
     "patching_rect": [
      210.0,
      105.0,
      85.0,
      22.0
     ]
    }
   },
   {
    "box": {
     "id": "obj-91",
     "maxclass": "comment",
     "text": "re-subscribe every minute: a subscription expires 10 minutes after the client's last message",
     "numinlets": 1,
     "numoutlets": 0,
     "patching_rect": [
      300.0,
      105.0,
      420.0,
      20.0
     ]
    }
   },
   {
    "box": {
     "id": "obj-100",
     "maxclass": "comment",
     "numinlets": 1,
     "numoutlets": 0,
     "patching_rect": [
      500.0,
      205.0,
      480.0,
      20.0
     ],
     "text": "LISTEN to --midi-in (listen, accompany, off) and CONSTRAIN the sampler"
    }
   },
   {
    "box": {
     "id": "obj-101",
     "maxclass": "umenu",
     "numinlets": 1,
     "numoutlets": 3,
     "patching_rect": [
      500.0,
      230.0,
      100.0,
      22.0
     ],
     "outlettype": [
      "int",
      "",
      ""
     ],
     "items": [
      "listen",
      ",",
      "accompany",
      ",",
      "off"
     ],
     "parameter_enable": 0
    }
   },
   {
    "box": {
     "id": "obj-102",
     "maxclass": "umenu",
     "numinlets": 1,
     "numoutlets": 3,
     "patching_rect": [
      680.0,
      230.0,
      100.0,
      22.0
     ],
     "outlettype": [
      "int",
      "",
      ""
     ],
     "items": [
      "none",
      ",",
      "syntax",
      ",",
      "meter"
     ],
     "parameter_enable": 0
    }
   },
   {
    "box": {
     "id": "obj-103",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 1,
     "patching_rect": [
      500.0,
      260.0,
      161.0,
      22.0
     ],
     "outlettype": [
      ""
     ],
     "text": "prepend /livernn/midi_in"
    }
   },
   {
    "box": {
     "id": "obj-104",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 1,
     "patching_rect": [
      680.0,
      290.0,
      175.0,
      22.0
     ],
     "outlettype": [
      ""
     ],
     "text": "prepend /livernn/constrain"
    }
   },
   {
    "box": {
     "id": "obj-105",
     "maxclass": "comment",
     "numinlets": 1,
     "numoutlets": 0,
     "patching_rect": [
      500.0,
      330.0,
      480.0,
      20.0
     ],
     "text": "FORK THE STATE - each from the next bar line (bars back; mutate: bars, temperature)"
    }
   },
   {
    "box": {
     "id": "obj-106",
     "maxclass": "message",
     "numinlets": 2,
     "numoutlets": 1,
     "patching_rect": [
      500.0,
      355.0,
      105.0,
      22.0
     ],
     "outlettype": [
      ""
     ],
     "text": "/livernn/loop 2"
    }
   },
   {
    "box": {
     "id": "obj-107",
     "maxclass": "message",
     "numinlets": 2,
     "numoutlets": 1,
     "patching_rect": [
      615.0,
      355.0,
      105.0,
      22.0
     ],
     "outlettype": [
      ""
     ],
     "text": "/livernn/loop 4"
    }
   },
   {
    "box": {
     "id": "obj-108",
     "maxclass": "message",
     "numinlets": 2,
     "numoutlets": 1,
     "patching_rect": [
      730.0,
      355.0,
      105.0,
      22.0
     ],
     "outlettype": [
      ""
     ],
     "text": "/livernn/loop 0"
    }
   },
   {
    "box": {
     "id": "obj-109",
     "maxclass": "message",
     "numinlets": 2,
     "numoutlets": 1,
     "patching_rect": [
      500.0,
      385.0,
      120.0,
      22.0
     ],
     "outlettype": [
      ""
     ],
     "text": "/livernn/rewind 1"
    }
   },
   {
    "box": {
     "id": "obj-110",
     "maxclass": "message",
     "numinlets": 2,
     "numoutlets": 1,
     "patching_rect": [
      630.0,
      385.0,
      150.0,
      22.0
     ],
     "outlettype": [
      ""
     ],
     "text": "/livernn/mutate 2 1.3"
    }
   },
   {
    "box": {
     "id": "obj-111",
     "maxclass": "message",
     "numinlets": 2,
     "numoutlets": 1,
     "patching_rect": [
      500.0,
      415.0,
      135.0,
      22.0
     ],
     "outlettype": [
      ""
     ],
     "text": "/livernn/bookmark a"
    }
   },
   {
    "box": {
     "id": "obj-112",
     "maxclass": "message",
     "numinlets": 2,
     "numoutlets": 1,
     "patching_rect": [
      645.0,
      415.0,
      120.0,
      22.0
     ],
     "outlettype": [
      ""
     ],
     "text": "/livernn/recall a"
    }
   },
   {
    "box": {
     "id": "obj-113",
     "maxclass": "comment",
     "numinlets": 1,
     "numoutlets": 0,
     "patching_rect": [
      850.0,
      355.0,
      140.0,
      20.0
     ],
     "text": "loop 0 ends the loop"
    }
   },
   {
    "box": {
     "id": "obj-114",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 3,
     "patching_rect": [
      760.0,
      710.0,
      91.0,
      22.0
     ],
     "outlettype": [
      "int",
      "float",
      "int"
     ],
     "text": "unpack 0 0. 0"
    }
   },
   {
    "box": {
     "id": "obj-115",
     "maxclass": "flonum",
     "numinlets": 1,
     "numoutlets": 2,
     "patching_rect": [
      760.0,
      740.0,
      60.0,
      22.0
     ],
     "outlettype": [
      "",
      "bang"
     ],
     "parameter_enable": 0
    }
   },
   {
    "box": {
     "id": "obj-116",
     "maxclass": "comment",
     "numinlets": 1,
     "numoutlets": 0,
     "patching_rect": [
      825.0,
      740.0,
      170.0,
      20.0
     ],
     "text": "confidence: bits (high = unsure)"
    }
   },
   {
    "box": {
     "id": "obj-120",
     "maxclass": "comment",
     "numinlets": 1,
     "numoutlets": 0,
     "patching_rect": [
      20.0,
      620.0,
      460.0,
      20.0
     ],
     "text": "SYNC with a band - Link (livernn serve --link) and send-ahead latency in ms"
    }
   },
   {
    "box": {
     "id": "obj-121",
     "maxclass": "message",
     "numinlets": 2,
     "numoutlets": 1,
     "patching_rect": [
      20.0,
      645.0,
      105.0,
      22.0
     ],
     "outlettype": [
      ""
     ],
     "text": "/livernn/link 1"
    }
   },
   {
    "box": {
     "id": "obj-122",
     "maxclass": "message",
     "numinlets": 2,
     "numoutlets": 1,
     "patching_rect": [
      135.0,
      645.0,
      105.0,
      22.0
     ],
     "outlettype": [
      ""
     ],
     "text": "/livernn/link 0"
    }
   },
   {
    "box": {
     "id": "obj-123",
     "maxclass": "comment",
     "numinlets": 1,
     "numoutlets": 0,
     "patching_rect": [
      250.0,
      645.0,
      230.0,
      20.0
     ],
     "text": "join / leave the Link session"
    }
   },
   {
    "box": {
     "id": "obj-124",
     "maxclass": "message",
     "numinlets": 2,
     "numoutlets": 1,
     "patching_rect": [
      20.0,
      675.0,
      170.0,
      22.0
     ],
     "outlettype": [
      ""
     ],
     "text": "/livernn/midi_latency 20"
    }
   },
   {
    "box": {
     "id": "obj-125",
     "maxclass": "message",
     "numinlets": 2,
     "numoutlets": 1,
     "patching_rect": [
      200.0,
      675.0,
      170.0,
      22.0
     ],
     "outlettype": [
      ""
     ],
     "text": "/livernn/midi_latency 0"
    }
   },
   {
    "box": {
     "id": "obj-126",
     "maxclass": "message",
     "numinlets": 2,
     "numoutlets": 1,
     "patching_rect": [
      20.0,
      705.0,
      170.0,
      22.0
     ],
     "outlettype": [
      ""
     ],
     "text": "/livernn/osc_latency 20"
    }
   },
   {
    "box": {
     "id": "obj-127",
     "maxclass": "message",
     "numinlets": 2,
     "numoutlets": 1,
     "patching_rect": [
      200.0,
      705.0,
      170.0,
      22.0
     ],
     "outlettype": [
      ""
     ],
     "text": "/livernn/osc_latency 0"
    }
   },
   {
    "box": {
     "id": "obj-128",
     "maxclass": "comment",
     "numinlets": 1,
     "numoutlets": 0,
     "patching_rect": [
      20.0,
      735.0,
      460.0,
      60.0
     ],
     "text": "CLOCK - livernn serve --clock-out sends MIDI clock (24 a beat, start/stop) on its MIDI output: follow it with [rtin]. --clock-in PORT: livernn follows the MIDI clock of PORT. --link [--quantum N]: share Ableton Link's beat (pip install 'livernn[link]')."
    }
   }
  ],
  "lines": [
   {
    "patchline": {
     "source": [
      "obj-3",
      0
     ],
     "destination": [
      "obj-4",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "obj-4",
      0
     ],
     "destination": [
      "obj-6",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "obj-5",
      0
     ],
     "destination": [
      "obj-6",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "obj-8",
      0
     ],
     "destination": [
      "obj-6",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "obj-9",
      0
     ],
     "destination": [
      "obj-6",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "obj-10",
      0
     ],
     "destination": [
      "obj-6",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "obj-12",
      1
     ],
     "destination": [
      "obj-14",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "obj-13",
      1
     ],
     "destination": [
      "obj-15",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "obj-14",
      0
     ],
     "destination": [
      "obj-6",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "obj-15",
      0
     ],
     "destination": [
      "obj-6",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "obj-17",
      0
     ],
     "destination": [
      "obj-18",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "obj-18",
      0
     ],
     "destination": [
      "obj-19",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "obj-19",
      0
     ],
     "destination": [
      "obj-6",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "obj-21",
      0
     ],
     "destination": [
      "obj-22",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "obj-22",
      0
     ],
     "destination": [
      "obj-23",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "obj-23",
      0
     ],
     "destination": [
      "obj-6",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "obj-25",
      0
     ],
     "destination": [
      "obj-6",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "obj-26",
      0
     ],
     "destination": [
      "obj-6",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "obj-27",
      0
     ],
     "destination": [
      "obj-6",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "obj-27",
      0
     ],
     "destination": [
      "obj-28",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "obj-30",
      0
     ],
     "destination": [
      "obj-31",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "obj-31",
      0
     ],
     "destination": [
      "obj-32",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "obj-32",
      0
     ],
     "destination": [
      "obj-33",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "obj-32",
      1
     ],
     "destination": [
      "obj-34",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "obj-32",
      2
     ],
     "destination": [
      "obj-35",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "obj-33",
      0
     ],
     "destination": [
      "obj-37",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "obj-34",
      0
     ],
     "destination": [
      "obj-37",
      1
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "obj-35",
      0
     ],
     "destination": [
      "obj-36",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "obj-36",
      0
     ],
     "destination": [
      "obj-37",
      2
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "obj-37",
      0
     ],
     "destination": [
      "obj-38",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "obj-37",
      1
     ],
     "destination": [
      "obj-38",
      1
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "obj-28",
      0
     ],
     "destination": [
      "obj-39",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "obj-39",
      0
     ],
     "destination": [
      "obj-37",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "obj-31",
      1
     ],
     "destination": [
      "obj-40",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "obj-40",
      0
     ],
     "destination": [
      "obj-41",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "obj-41",
      0
     ],
     "destination": [
      "obj-42",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "obj-31",
      2
     ],
     "destination": [
      "obj-43",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "obj-31",
      3
     ],
     "destination": [
      "obj-44",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "obj-3",
      0
     ],
     "destination": [
      "obj-90",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "obj-90",
      0
     ],
     "destination": [
      "obj-4",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "obj-101",
      1
     ],
     "destination": [
      "obj-103",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "obj-103",
      0
     ],
     "destination": [
      "obj-6",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "obj-102",
      1
     ],
     "destination": [
      "obj-104",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "obj-104",
      0
     ],
     "destination": [
      "obj-6",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "obj-106",
      0
     ],
     "destination": [
      "obj-6",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "obj-107",
      0
     ],
     "destination": [
      "obj-6",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "obj-108",
      0
     ],
     "destination": [
      "obj-6",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "obj-109",
      0
     ],
     "destination": [
      "obj-6",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "obj-110",
      0
     ],
     "destination": [
      "obj-6",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "obj-111",
      0
     ],
     "destination": [
      "obj-6",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "obj-112",
      0
     ],
     "destination": [
      "obj-6",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "obj-31",
      4
     ],
     "destination": [
      "obj-114",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "obj-114",
      1
     ],
     "destination": [
      "obj-115",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "obj-121",
      0
     ],
     "destination": [
      "obj-6",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "obj-122",
      0
     ],
     "destination": [
      "obj-6",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "obj-124",
      0
     ],
     "destination": [
      "obj-6",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "obj-125",
      0
     ],
     "destination": [
      "obj-6",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "obj-126",
      0
     ],
     "destination": [
      "obj-6",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "obj-127",
      0
     ],
     "destination": [
      "obj-6",
      0
     ]
    }
   }
  ]
 }
}