"""Online re-visits (复诊/续方): the eligibility gate and the request queue.

China's Internet-hospital rules allow online care only as a re-visit, for
common or chronic conditions, by patients already diagnosed in person. This
package decides eligibility (:mod:`bot.revisits.eligibility`), reads the
patient's answers (:mod:`bot.revisits.answers`), and queues eligible requests
for a doctor (:mod:`bot.revisits.service`). It never issues or drafts a
prescription: medicines are *renewal requests* a doctor decides on.
"""
