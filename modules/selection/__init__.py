"""Model-aware data selection for language-model pretraining: MATES (Yu, Das & Xiong, "MATES:
Model-Aware Data Selection for Efficient Pretraining with Data Influence Models", NeurIPS 2024;
official code cxcscmu/MATES) at laptop scale, against random selection and static baselines.

- ``lm``: the small Llama causal LM being pretrained, its loss and learning-rate schedule.
- ``pool``: the tagged candidate pool (Wikipedia, Friends, 20 Newsgroups) in fixed-length token
  sequences, the held-out sets, and a loader for a Hugging Face corpus (C4 in the paper).
- ``reference``: next-token loss on held-out sequences (the probing target and the reported
  metric, on disjoint Wikipedia articles), the unigram floor, the disjointness check.
- ``evaluation``: what each stage reports, and the decay branch evaluated in place of the model.
- ``probing``: oracle probing (one optimizer step per candidate from a restored copy).
- ``first_order``: the same oracle to first order in the step (one backward pass per candidate).
- ``influence``: the data influence model (a pretrained encoder + a regression head).
- ``gumbel``: Gumbel-top-k selection.
- ``selectors``: random, mates, perplexity, source_oracle.
- ``sources``: the bundled text sources (Wikipedia, Friends, 20 Newsgroups).
- ``stages``: the Lightning module, the staged data module and the callback that evaluates each
  stage and selects the next one.
- ``task``: the trial's run procedure.
"""
