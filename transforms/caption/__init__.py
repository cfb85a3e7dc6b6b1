"""The caption stage: an IDP vision-language model captions (or, for a labelled pair, scores)
each frame pair. Nothing is imported here: a run without captions, and the launcher of any run,
import `config` alone and never load torch, transformers or Beam's inference module.

    config.py        CaptionConfig, the stage's one frozen config, each field's help in its metadata
    stage.py         CaptionPairs, the Beam transform: RunInference with outputs {captioned, failed}
    inputs.py        CaptionInput, the one type the handler takes, made where pairs enter the stage
    handler.py       IdpModelHandler, Beam's ModelHandler: load, batch, caption or score
    loading.py       where weights come from and how they load (hub, folder, fsspec URL; device)
    model.py         IdpModel, the loaded model: batched greedy captioning, teacher-forced scoring
    model_inputs.py  the processor's batch for a list of pairs (resize, tokenise, teacher targets)
    prompt.py        the prompt, its templates and caption parsing: pure functions
"""
