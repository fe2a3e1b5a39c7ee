#!/usr/bin/env python3
"""Writes a small jsonl fine-tuning set for the demo model (scripts/demo/shakespeare-llama):
short stage dialogues in a fixed pattern the base model has never seen, so the validation
loss visibly falls as LoRA learns it. Deterministic (seeded). Usage: make_lora_data.py OUT_DIR"""
import json
import os
import random
import sys

NAMES = ["ROMEO", "JULIET", "HAMLET", "OPHELIA", "MACBETH", "BANQUO", "PORTIA", "BRUTUS", "VIOLA",
         "ORSINO", "PROSPERO", "MIRANDA", "OTHELLO", "DESDEMONA", "LEAR", "CORDELIA"]
THINGS = ["the moon", "the king", "the ship", "the garden", "the crown", "the letter", "the storm",
          "the feast", "the sword", "the tower", "the river", "the ring"]
STATES = ["lost", "found", "burning", "sleeping", "broken", "golden", "silent", "returned",
          "stolen", "waiting", "drowned", "crowned"]
PLACES = ["Verona", "Denmark", "Scotland", "Venice", "Illyria", "Athens", "Milan", "Cyprus"]


def dialogue(rng):
    a, b = rng.sample(NAMES, 2)
    thing, state, place = rng.choice(THINGS), rng.choice(STATES), rng.choice(PLACES)
    return (f"{a}:\nWhat news from {place}, good {b.capitalize()}?\n\n"
            f"{b}:\nMy lord, {thing} is {state}, and all {place} knows it.\n\n"
            f"{a}:\nThen {thing} {state}, and {place} shall hear of it.")


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "lora-data"
    os.makedirs(out, exist_ok=True)
    rng = random.Random(0)
    for name, count in [("train", 800), ("valid", 100), ("test", 100)]:
        with open(os.path.join(out, f"{name}.jsonl"), "w") as f:
            for _ in range(count):
                f.write(json.dumps({"text": dialogue(rng)}) + "\n")


if __name__ == "__main__":
    main()
