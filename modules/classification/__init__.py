"""Classification models: an MLP for small vector inputs (the smoke study) and a fine-tuned text
classifier from one shared initialization, whose trials feed model soups (the soup_finetune study)."""
