//! Classification metrics: confusion matrix, accuracy, precision, recall, F1, top-k.
