"""Text shared by the extraction tests: an English article of our own, five paragraphs."""

PARAGRAPHS = [
    "The city council approved the new harbour plan on Tuesday after a debate that lasted more than six "
    "hours, with members split over the cost of dredging the old channel.",
    "Supporters said the plan would bring container traffic back to the old docks, which have stood mostly "
    "empty since the shipyard closed two decades ago.",
    "Opponents argued that the money would be better spent on the tram line, and several residents spoke "
    "against the noise that night shifts at the terminal would bring.",
    "The mayor said construction could start next spring if the regional government confirms its share of "
    "the funding before the end of the year.",
    "Environmental groups have asked for a full study of the estuary first, and say they will take the "
    "matter to court if the council refuses to order one.",
]
