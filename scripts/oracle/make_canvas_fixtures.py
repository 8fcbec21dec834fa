#!/usr/bin/env python3
"""Records what Omost's own `lib_omost/canvas.py` computes for many canvas programs, as the oracle our
canvas engine is tested against (tests/fixtures/omost_canvas_cases.json).

Usage: python3 scripts/oracle/make_canvas_fixtures.py PATH/TO/Omost > tests/fixtures/omost_canvas_cases.json
Needs numpy. Omost's code is loaded from the given checkout and run as Omost runs it (exec of the code
block); nothing of it is copied here. Deterministic: the same Omost and numpy give the same file.
"""
import base64
import contextlib
import hashlib
import importlib.util
import json
import random
import sys

spec = importlib.util.spec_from_file_location("omost_canvas", f"{sys.argv[1]}/lib_omost/canvas.py")
omost = importlib.util.module_from_spec(spec)
spec.loader.exec_module(omost)

LOCS = list(omost.valid_locations)
OFFS = list(omost.valid_offsets)
AREAS = list(omost.valid_areas)
COLORS = list(omost.valid_colors)
WORDS = "dragon warrior sky castle river forest cat dog light shadow red ancient misty golden".split()


def fuzz_name(rng, name):
    """The name as an LLM might misspell it."""
    r = rng.random()
    if r < 0.82:
        return name
    if r < 0.86:
        return name.upper()
    if r < 0.91:
        return name.replace("on the ", "").replace("slightly to the ", "slightly ")
    if r < 0.95 and len(name) > 3:
        i = rng.randrange(len(name))
        return name[:i] + name[i + 1:]
    if r < 0.98:
        return name.replace("-", " ")
    return rng.choice(["middle", "xyz", "no", "big", "light brown", "navy blue", "top left", "Sky Blue"])


def sentence(rng):
    s = " ".join(rng.choice(WORDS) for _ in range(rng.randint(0, 5)))
    return s + rng.choice(["", ".", "..", " ,", ",.", "!", "’s tail", " \"quoted\"", " it's"])


def random_program(rng):
    lines = ["canvas = Canvas()"]
    n = rng.randint(0, 7)
    global_at = rng.choice([0, 0, 0, 0, n, rng.randint(0, n)])
    for i in range(n + 1):
        if i == global_at:
            lines.append(
                "canvas.set_global_description(description=%r, detailed_descriptions=%r, tags=%r, HTML_web_color_name=%r)"
                % (sentence(rng), [sentence(rng) for _ in range(rng.randint(0, 3))], sentence(rng),
                   fuzz_name(rng, rng.choice(COLORS))))
        if i == n:
            break
        dist = rng.choice([1, 2, 5, 5.0, 7.5, 10, 10.0, 0.5, 3])
        if rng.random() < 0.03:
            dist = rng.choice([0, -1.0])
        lines.append(
            "canvas.add_local_description(location=%r, offset=%r, area=%r, distance_to_viewer=%r, description=%r, "
            "detailed_descriptions=%r, tags=%r, atmosphere=%r, style=%r, quality_meta=%r, HTML_web_color_name=%r)"
            % (fuzz_name(rng, rng.choice(LOCS)), fuzz_name(rng, rng.choice(OFFS)), fuzz_name(rng, rng.choice(AREAS)),
               dist, sentence(rng), [sentence(rng) for _ in range(rng.randint(0, 4))], sentence(rng),
               sentence(rng), sentence(rng), sentence(rng), fuzz_name(rng, rng.choice(COLORS))))
    return "\n".join(lines)


HANDWRITTEN = [
    # positional arguments, comments, every string form, concatenation, signs, trailing commas
    '''# comment
canvas = Canvas()  # trailing comment
canvas.set_global_description("A \\"quoted\\" scene" ' joined', ['one', """two
lines""", r'raw\\n', u'\\u2019 \\x41\\101'], 'tags,', 'Dark Slate Gray')
canvas.add_local_description('top left', 'slightly to the top', 'a big area', +5, 'A cat', [], '', '', '', '', 'olive green',)
canvas.add_local_description(
    location='in the middle',
    offset='slightly to the bottom-right',
    area='a tiny area',
    distance_to_viewer=1e1,
    description='B',
    detailed_descriptions=['x',],
    tags='t', atmosphere='a', style='s', quality_meta='q',
    HTML_web_color_name='light brown',
); canvas.add_local_description(location='on the right', offset='no offset', area='a small square area', distance_to_viewer=True, description='C', detailed_descriptions=[], tags='', atmosphere='', style='', quality_meta='', HTML_web_color_name='gold')''',
    # local before global: no global prefix; global replaced later: captured prefix
    '''canvas = Canvas()
canvas.add_local_description(location='on the left', offset='no offset', area='a small square area', distance_to_viewer=2, description='early', detailed_descriptions=[], tags='', atmosphere='', style='', quality_meta='', HTML_web_color_name='red')
canvas.set_global_description(description='first', detailed_descriptions=[], tags='', HTML_web_color_name='blue')
canvas.add_local_description(location='on the right', offset='no offset', area='a small square area', distance_to_viewer=2, description='middle', detailed_descriptions=[], tags='', atmosphere='', style='', quality_meta='', HTML_web_color_name='green')
canvas.set_global_description(description='second', detailed_descriptions=['d'], tags='t', HTML_web_color_name='white')
canvas.add_local_description(location='on the top', offset='no offset', area='a small square area', distance_to_viewer=2, description='late', detailed_descriptions=[], tags='', atmosphere='', style='', quality_meta='', HTML_web_color_name='black')''',
    # Omost's own rejections
    "canvas = Canvas()\ncanvas.set_global_description(description=1, detailed_descriptions=[], tags='', HTML_web_color_name='red')",
    "canvas = Canvas()\ncanvas.set_global_description(description='a', detailed_descriptions=['x', 2], tags='', HTML_web_color_name='red')",
    "canvas = Canvas()\ncanvas.set_global_description(description='a', detailed_descriptions=('x',), tags='', HTML_web_color_name='red')",
    "canvas = Canvas()\ncanvas.set_global_description(description='a', detailed_descriptions=[], tags=None, HTML_web_color_name='red')",
    "canvas = Canvas()\ncanvas.set_global_description(description='a', detailed_descriptions=[], tags='', HTML_web_color_name='qqq')",
    "canvas = Canvas()\ncanvas.add_local_description(location='on the left', offset='no offset', area='a small square area', distance_to_viewer='5', description='D', detailed_descriptions=[], tags='', atmosphere='', style='', quality_meta='', HTML_web_color_name='red')",
    "canvas = Canvas()\ncanvas.add_local_description(location='on the left', offset='no offset', area='a small square area', distance_to_viewer=5, description='D', detailed_descriptions=[], tags='', atmosphere=1.5, style='', quality_meta='', HTML_web_color_name='red')",
    "canvas = Canvas()\ncanvas.add_local_description(location='right side', offset='no offset', area='a small square area', distance_to_viewer=5, description='D', detailed_descriptions=[], tags='', atmosphere='', style='', quality_meta='', HTML_web_color_name='red')",
    "canvas = Canvas()\ncanvas.add_local_description(location='on the left', offset='none', area='a small square area', distance_to_viewer=5, description=None, detailed_descriptions=[], tags='', atmosphere='', style='', quality_meta='', HTML_web_color_name='red')",
    "# canvas = Canvas()\n",
    "x = 1\n",
]


def run_case(code):
    reply = "Here is the canvas.\n```python\n" + code + "\n```\nDone."
    case = {"reply": reply}
    try:
        # Omost prints its corrections to stdout; keep them out of the JSON.
        with contextlib.redirect_stdout(sys.stderr):
            canvas = omost.Canvas.from_bot_response(reply)
            result = canvas.process()
    except AssertionError as e:
        case["error"] = str(e)
        return case
    except Exception as e:  # NameError, TypeError, AttributeError: Python's own
        case["python_error"] = type(e).__name__
        return case
    latent = result["initial_latent"]
    assert latent.shape == (90, 90, 3)
    raw = latent.tobytes()
    case["sketch_sha256"] = hashlib.sha256(raw).hexdigest()
    case["conditions"] = []
    for c in result["bag_of_conditions"]:
        ys, xs = c["mask"].nonzero()
        rect = [int(ys.min()), int(ys.max()) + 1, int(xs.min()), int(xs.max()) + 1]
        assert c["mask"].sum() == (rect[1] - rect[0]) * (rect[3] - rect[2])
        case["conditions"].append({"rect": rect, "prefixes": c["prefixes"], "suffixes": c["suffixes"]})
    return case


def main():
    rng = random.Random(20240529)
    cases = [run_case(code) for code in HANDWRITTEN]
    cases += [run_case(random_program(rng)) for _ in range(250)]
    # The README dragon reply, with the full sketch so a mismatch can be located.
    transcript = open(sys.argv[2]).read() if len(sys.argv) > 2 else None
    if transcript:
        first = transcript.index("```python\n")
        code = transcript[first + 10: transcript.index("\n```", first)]
        case = run_case(code)
        canvas = omost.Canvas.from_bot_response("```python\n" + code + "\n```")
        case["sketch_base64"] = base64.b64encode(canvas.process()["initial_latent"].tobytes()).decode()
        cases.append(case)
    json.dump({"generator": "scripts/oracle/make_canvas_fixtures.py", "cases": cases}, sys.stdout, indent=0,
              ensure_ascii=False)


main()
